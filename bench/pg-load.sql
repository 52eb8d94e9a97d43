-- bench/pg-load.sql - the PostgreSQL peer's customers, loaded once by
-- bench/pg.sh (psql -v n=N -v seed=S): the columns of Coffer's customer
-- kind (docs/schema.md) with values of comparable length, owners spread
-- over ten agents (owner_id = id % 10 + 1), a primary key on id and an
-- index on owner_id, as the vault has.
CREATE TABLE customers (
	id bigint PRIMARY KEY,
	version bigint NOT NULL,
	created bigint NOT NULL,
	updated bigint NOT NULL,
	name text NOT NULL,
	phone text NOT NULL,
	email text,
	company text,
	address text,
	needs text,
	intent text,
	stage text NOT NULL,
	exclude_reason text,
	owner_id bigint NOT NULL,
	source_list text,
	do_not_call boolean NOT NULL,
	label text
);

SELECT setseed(((:seed % 1000) / 1000.0)::float8) AS seeded \gset

INSERT INTO customers
SELECT g, 1, 1700000000 + g % 86400000, 1700000000 + g % 86400000,
	(ARRAY['王','李','张','刘','陈','杨','黄','赵'])[1 + g % 8] ||
	    (ARRAY['伟','芳','娜','敏','静','丽','强','磊'])[1 + (g / 8) % 8] ||
	    (ARRAY['华','明','杰','婷'])[1 + (g / 64) % 4],
	'1' || (30 + g % 70)::text || lpad((g * 7919 % 100000000)::text, 8, '0'),
	'c' || g || '@example.cn',
	(ARRAY['恒信','华泰','金桥','新锐','鼎盛'])[1 + g % 5] ||
	    (ARRAY['科技','贸易','建材','物流'])[1 + g % 4] || '有限公司',
	(ARRAY['北京','上海','广州','深圳'])[1 + g % 4] || '市' ||
	    (ARRAY['高新区','滨江区','南山区'])[1 + g % 3] ||
	    (ARRAY['人民路','解放路','中山路'])[1 + g % 3] || (g % 300) || '号',
	CASE WHEN random() < 0.7 THEN
	    (ARRAY['想上一套客户管理系统，现有表格管理太乱',
	           '关注呼叫中心的价格，预算有限',
	           '需要和老板商量，下周再联系'])[1 + g % 3] END,
	(ARRAY['none','low','medium','high'])[1 + g % 4],
	(ARRAY['new','screened','contacted','following','won','lost'])[1 + g % 6],
	NULL,
	g % 10 + 1,
	'list-2026-' || lpad((g % 20)::text, 2, '0'),
	g % 50 = 0,
	NULL
FROM generate_series(1::bigint, :n) AS g;

CREATE INDEX customers_owner ON customers (owner_id);
VACUUM ANALYZE customers;
