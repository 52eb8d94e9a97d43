-- bench/pgbench-point-read.sql - the PostgreSQL peer's equivalent of
-- Coffer's record.get of an agent's own customer: one row by primary key,
-- scoped to its owner (bench/pg.sh gives customer id g the owner g % 10 + 1,
-- as if ten agents shared the table).  pgbench -D ncust=N sets the range.
\set id random(1, :ncust)
\set owner :id % 10 + 1
SELECT * FROM customers WHERE id = :id AND owner_id = :owner;
