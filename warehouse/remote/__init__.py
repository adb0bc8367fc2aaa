"""Remote sources: `s3://` and `https://` locations read through fsspec.

Modules: fs (filesystems, errors in our words), cache (downloads: once, resumable, size- and
md5-checked), tree (a remote location as an `ingest.tree.Tree`, so discovery reads it like a
local folder). Nothing here knows which files are sources: that is `ingest.discovery`'s job.
"""
