-- Staff sign-in (issue 6): staff, PIN hashes, failed attempts, lock-outs.
-- Owned by the roles work; placeholder until it lands.
SELECT 1;
