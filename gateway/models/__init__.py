"""The models domain: Hub search, the local cache, the active model, serving settings, and
download/upload jobs (:class:`gateway.models.service.ModelsService`, ``services.models``)."""
