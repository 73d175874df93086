// CascadeSim
