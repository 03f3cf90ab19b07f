-- Sync with HQ (issue 5): cursors, catalog/price changes, other stores' stock.
-- Owned by the sync work; placeholder until it lands.
SELECT 1;
