"""Form definitions (versioned data files), responses, validation and scoring."""
