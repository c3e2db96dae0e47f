"""extract: EXIF, image properties and dominant colours of image files."""
