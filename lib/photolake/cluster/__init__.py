"""cluster: Spark MLlib KMeans over image features, with a 2-D projection for plots."""
