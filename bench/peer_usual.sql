-- The pure-SQL peer, "usual" design: what the well-known pure-SQL PostgreSQL ledgers ship
-- (pgledger's design, written here). One transaction per transfer. Loaded by bench/peer.py.
--
-- Text ids made by the database: a UUIDv7 when the server has one, else composed from the
-- clock and random bits, written as a ULID by PL/pgSQL. Foreign keys; the read indexes a
-- ledger serves (entries by account and by transfer, transfers by account and by event
-- time); JSONB metadata; an event time. A single transfer is a batch of one for a function
-- over an array of requests: it locks the sorted distinct accounts one by one, updates each
-- balance and checks its constraints with a helper, inserts the transfer and two entries
-- (balances before and after, account version) and returns the created transfers.

CREATE FUNCTION peer_uuidv7() RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    result uuid;
    t_ms double precision;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'uuidv7') THEN
        EXECUTE 'SELECT uuidv7()' INTO result;
        RETURN result;
    END IF;
    t_ms := extract(epoch FROM clock_timestamp()) * 1000;
    RETURN encode(
        substring(int8send(floor(t_ms)::int8) FROM 3)
        || int2send(((7 << 12) | ((t_ms - floor(t_ms)) * 4096)::int)::int2)
        || substring(uuid_send(gen_random_uuid()) FROM 9 FOR 8),
        'hex')::uuid;
END $$;

CREATE FUNCTION peer_ulid(raw bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    high bigint := 0;  -- the 48-bit time
    chunk bigint;
    result text := '';
BEGIN
    FOR b IN 0..5 LOOP
        high := (high << 8) | get_byte(raw, b);
    END LOOP;
    FOR i IN REVERSE 9..0 LOOP
        result := result || substr(alphabet, ((high >> (5 * i)) & 31)::int + 1, 1);
    END LOOP;
    FOR half IN 0..1 LOOP  -- the 80 random bits, 40 at a time
        chunk := 0;
        FOR b IN 0..4 LOOP
            chunk := (chunk << 8) | get_byte(raw, 6 + half * 5 + b);
        END LOOP;
        FOR i IN REVERSE 7..0 LOOP
            result := result || substr(alphabet, ((chunk >> (5 * i)) & 31)::int + 1, 1);
        END LOOP;
    END LOOP;
    RETURN result;
END $$;

CREATE FUNCTION peer_id(prefix text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT prefix || '_' || peer_ulid(uuid_send(peer_uuidv7()))
$$;

CREATE TABLE peer_accounts (
    id text PRIMARY KEY DEFAULT peer_id('acc'),
    name text NOT NULL,
    currency text NOT NULL,
    balance numeric NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 0,
    allow_negative boolean NOT NULL,
    allow_positive boolean NOT NULL DEFAULT true,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE peer_transfers (
    id text PRIMARY KEY DEFAULT peer_id('trf'),
    from_account_id text NOT NULL REFERENCES peer_accounts (id),
    to_account_id text NOT NULL REFERENCES peer_accounts (id),
    amount numeric NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    event_at timestamptz NOT NULL,
    metadata jsonb,
    CHECK (amount > 0 AND from_account_id <> to_account_id)
);
CREATE INDEX ON peer_transfers (from_account_id);
CREATE INDEX ON peer_transfers (to_account_id);
CREATE INDEX ON peer_transfers (event_at);

CREATE TABLE peer_entries (
    id text PRIMARY KEY DEFAULT peer_id('ent'),
    account_id text NOT NULL REFERENCES peer_accounts (id),
    transfer_id text NOT NULL REFERENCES peer_transfers (id),
    amount numeric NOT NULL,
    account_previous_balance numeric NOT NULL,
    account_current_balance numeric NOT NULL,
    account_version bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON peer_entries (account_id);
CREATE INDEX ON peer_entries (transfer_id);

CREATE TYPE peer_transfer_request AS (from_id text, to_id text, amount numeric);

CREATE FUNCTION peer_check_account(account peer_accounts) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF account.id IS NULL THEN RAISE EXCEPTION 'unknown account'; END IF;
    IF NOT account.allow_negative AND account.balance < 0 THEN
        RAISE EXCEPTION 'account % may not go negative', account.id;
    END IF;
    IF NOT account.allow_positive AND account.balance > 0 THEN
        RAISE EXCEPTION 'account % may not go positive', account.id;
    END IF;
END $$;

CREATE FUNCTION peer_create_transfers(requests peer_transfer_request [],
                                      p_event_at timestamptz DEFAULT NULL,
                                      p_metadata jsonb DEFAULT NULL)
RETURNS SETOF peer_transfers LANGUAGE plpgsql AS $$
DECLARE
    r peer_transfer_request;
    account_id text;
    v_from peer_accounts;
    v_to peer_accounts;
    v_transfer text;
    created text[] := '{}';
BEGIN
    -- Lock every account of the batch, sorted and once each: no deadlocks.
    FOR account_id IN
        SELECT DISTINCT v.a FROM unnest(requests) AS q,
            LATERAL (VALUES (q.from_id), (q.to_id)) AS v (a)
        ORDER BY v.a
    LOOP
        PERFORM 1 FROM peer_accounts WHERE id = account_id FOR UPDATE;
    END LOOP;
    FOREACH r IN ARRAY requests LOOP
        IF r.amount <= 0 THEN RAISE EXCEPTION 'amount (%) must be positive', r.amount; END IF;
        IF r.from_id = r.to_id THEN RAISE EXCEPTION 'cannot transfer to the same account'; END IF;
        UPDATE peer_accounts SET balance = balance - r.amount, version = version + 1,
                                 updated_at = now()
        WHERE id = r.from_id RETURNING * INTO v_from;
        PERFORM peer_check_account(v_from);
        UPDATE peer_accounts SET balance = balance + r.amount, version = version + 1,
                                 updated_at = now()
        WHERE id = r.to_id RETURNING * INTO v_to;
        PERFORM peer_check_account(v_to);
        IF v_from.currency <> v_to.currency THEN
            RAISE EXCEPTION 'currencies differ (% and %)', v_from.currency, v_to.currency;
        END IF;
        INSERT INTO peer_transfers (from_account_id, to_account_id, amount, event_at, metadata)
        VALUES (r.from_id, r.to_id, r.amount, coalesce(p_event_at, now()), p_metadata)
        RETURNING id INTO v_transfer;
        created := array_append(created, v_transfer);
        INSERT INTO peer_entries (account_id, transfer_id, amount, account_previous_balance,
                                  account_current_balance, account_version)
        VALUES (r.from_id, v_transfer, -r.amount, v_from.balance + r.amount, v_from.balance,
                v_from.version),
               (r.to_id, v_transfer, r.amount, v_to.balance - r.amount, v_to.balance,
                v_to.version);
    END LOOP;
    RETURN QUERY SELECT * FROM peer_transfers WHERE id = ANY (created) ORDER BY id;
END $$;

CREATE FUNCTION peer_create_transfer(p_from text, p_to text, p_amount numeric,
                                     p_event_at timestamptz DEFAULT NULL,
                                     p_metadata jsonb DEFAULT NULL)
RETURNS SETOF peer_transfers LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM peer_create_transfers(
        ARRAY[(p_from, p_to, p_amount)::peer_transfer_request], p_event_at, p_metadata);
END $$;
