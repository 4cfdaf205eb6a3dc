"""Project datasets: files, chunked uploads, previews, tag schemas and tags."""
