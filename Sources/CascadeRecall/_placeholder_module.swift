// CascadeRecall
