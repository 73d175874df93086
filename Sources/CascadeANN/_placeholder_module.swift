// CascadeANN
