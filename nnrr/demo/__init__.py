"""Demo data and the synthetic data generator (``nnrr load_demo``, ``nnrr seed``)."""
