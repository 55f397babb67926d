"""The stages a file goes through: access, detect, validate, hash, extract, chunk, embed, store."""
