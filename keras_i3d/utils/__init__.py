"""Small helpers with no model code: files, hashes, paths, downloads."""
