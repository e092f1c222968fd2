-- 0011 (issue 18): houses, apartments and meter serials from billing, and
-- the houses each manager serves (docs/house-entry.md).
--
-- A house is (city, street, number) as billing writes them; `meterline
-- import houses FILE.csv` creates it and gives each contract its house and
-- apartment, and each register its serial number (заводской номер).
-- The manager's page lists a house's contracts by apartment: the index on
-- (house_id, apartment). Text keys in byte order ("C"), as 0002 made the
-- others.
CREATE TABLE houses (
	id     serial PRIMARY KEY,
	city   text COLLATE "C" NOT NULL CHECK (city <> ''),
	street text COLLATE "C" NOT NULL CHECK (street <> ''),
	number text COLLATE "C" NOT NULL CHECK (number <> ''),
	UNIQUE (city, street, number)
);

ALTER TABLE contracts
	ADD COLUMN IF NOT EXISTS house_id integer REFERENCES houses ON DELETE SET NULL,
	ADD COLUMN IF NOT EXISTS apartment text COLLATE "C";
CREATE INDEX IF NOT EXISTS contracts_house ON contracts (house_id, apartment)
	WHERE house_id IS NOT NULL;

-- Another migration (0010) adds the same column; whichever runs first wins.
ALTER TABLE registers ADD COLUMN IF NOT EXISTS serial text;

-- Which houses a manager may open and send (the console checks every
-- request against it: 403 otherwise). Admins reach every house.
CREATE TABLE manager_houses (
	username text COLLATE "C" NOT NULL REFERENCES console_users ON DELETE CASCADE,
	house_id integer NOT NULL REFERENCES houses ON DELETE CASCADE,
	PRIMARY KEY (username, house_id)
);
