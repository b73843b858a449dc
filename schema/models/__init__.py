"""The models domain: Hub search, the local cache, downloads with live progress."""
