"""report: charts (matplotlib) and an HTML page over the lake's analytics views."""
