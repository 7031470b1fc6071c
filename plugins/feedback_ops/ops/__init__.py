"""Operations on the warehouse as a whole: retention of raw text, Unity Catalog access grants."""
