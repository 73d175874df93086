// CascadeImport
