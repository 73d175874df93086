// CascadeEval
