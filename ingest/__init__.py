"""Reading claim files per the claims contract, validation, quarantine, the claims store,
the synthetic data generator and adapters for outside datasets."""
