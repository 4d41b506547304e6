"""OCI images without a daemon: reproducible layers, image-layout archives, root filesystems."""
