"""Platform adapters: one module per platform. They know nothing of skills."""
