"""Streaming uploads: tus resumable uploads and streamed multipart bodies."""
