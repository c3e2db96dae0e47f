"""sample: a realistic release in the real Unsplash format, its images, and a local image server."""
