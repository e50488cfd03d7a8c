-- Timer leases, for several servers on one database: a server claims due timers for a
-- while (`lease_until_ns`), so each timer is fired by one server, and a timer whose server
-- died is claimed again when the lease ends. A case write that re-arms a timer clears it.
ALTER TABLE timers ADD COLUMN lease_until_ns INTEGER;
ALTER TABLE timers ADD COLUMN lease_node TEXT;
CREATE INDEX timers_leased ON timers (lease_until_ns) WHERE lease_until_ns IS NOT NULL;
