"""The agents domain: Brigade's agent usage and task history, per caller
(:class:`gateway.agents.service.AgentsService`, ``services.agents``)."""
