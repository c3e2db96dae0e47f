"""recommend: ALS (implicit feedback), popularity, content and hybrid recommenders, with reasons, tuned and
evaluated on a per-user time-based holdout."""
