"""Where files come from: uploads, directories, zip archives (URLs and S3 come later)."""
