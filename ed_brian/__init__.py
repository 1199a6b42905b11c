"""ed-brian: Kaneko's Error-Diffusion learning on fully spiking LIF networks in Brian2."""

__version__ = "0.1.0"
