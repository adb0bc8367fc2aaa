"""`brainwh fetch`: the real public Allen sources, downloaded into the layout `build` reads.

Modules: downloads (one URL to one file: resumable, checked, retried), rma (paging an RMA
query), sources (what each fetchable source downloads, from which URLs, to which folder).
"""
