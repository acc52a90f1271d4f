//! Host trainer (issue 4: not yet implemented).
