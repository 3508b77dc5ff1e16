//! Table-driven cases for the variable judgement.
