"""The sales process: stage and status moves, approvals, the pipeline board, its settings."""
