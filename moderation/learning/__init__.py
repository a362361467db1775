"""Training, calibration and the per-site model built from moderators' decisions."""
