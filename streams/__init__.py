"""The Faust worker: command processors, sagas, notifications and projection runners."""
