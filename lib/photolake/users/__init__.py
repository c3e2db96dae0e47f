"""users: synthetic users with hidden tastes, the dataset's real users from its conversions, and a profile
of every user's favourite colours, tags, objects, shapes, cameras, cluster and images."""
