"""download: fetch the photos' images over HTTP on the executors, fast, politely and resumably."""
