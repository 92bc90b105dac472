"""The portal keeps no tables of its own: its address throttle is in the "throttle" cache."""
