// CascadeEngine
