-- The pure-SQL peer, "lean" design: the same rules with only what they need (uuid ids made
-- by the server, one read index, one function), the fastest form of the usual design.
-- One transaction per transfer. Loaded by bench/peer.py, printed for scale.

CREATE TABLE peer_accounts (
    id text PRIMARY KEY,
    name text NOT NULL,
    currency text NOT NULL,
    balance numeric NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 0,
    allow_negative boolean NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE peer_transfers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    from_account_id text NOT NULL,
    to_account_id text NOT NULL,
    amount numeric NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    event_at timestamptz NOT NULL,
    metadata jsonb
);

CREATE TABLE peer_entries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id text NOT NULL,
    transfer_id uuid NOT NULL,
    amount numeric NOT NULL,
    account_previous_balance numeric NOT NULL,
    account_current_balance numeric NOT NULL,
    account_version bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON peer_entries (account_id);

CREATE FUNCTION peer_create_transfer(p_from text, p_to text, p_amount numeric,
                                     p_event_at timestamptz DEFAULT NULL,
                                     p_metadata jsonb DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_from peer_accounts%ROWTYPE;
    v_to peer_accounts%ROWTYPE;
    v_transfer uuid;
BEGIN
    IF p_amount <= 0 THEN RAISE EXCEPTION 'amount (%) must be positive', p_amount; END IF;
    IF p_from = p_to THEN RAISE EXCEPTION 'cannot transfer to the same account'; END IF;
    -- Lock both rows in id order: concurrent transfers queue, never deadlock.
    PERFORM 1 FROM peer_accounts WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE;
    UPDATE peer_accounts SET balance = balance - p_amount, version = version + 1,
                             updated_at = now()
    WHERE id = p_from RETURNING * INTO v_from;
    UPDATE peer_accounts SET balance = balance + p_amount, version = version + 1,
                             updated_at = now()
    WHERE id = p_to RETURNING * INTO v_to;
    IF v_from.id IS NULL OR v_to.id IS NULL THEN RAISE EXCEPTION 'unknown account'; END IF;
    IF v_from.currency <> v_to.currency THEN
        RAISE EXCEPTION 'currencies differ (% and %)', v_from.currency, v_to.currency;
    END IF;
    IF NOT v_from.allow_negative AND v_from.balance < 0 THEN
        RAISE EXCEPTION 'insufficient funds in %', p_from;
    END IF;
    INSERT INTO peer_transfers (from_account_id, to_account_id, amount, event_at, metadata)
    VALUES (p_from, p_to, p_amount, coalesce(p_event_at, now()), p_metadata)
    RETURNING id INTO v_transfer;
    INSERT INTO peer_entries (account_id, transfer_id, amount, account_previous_balance,
                              account_current_balance, account_version)
    VALUES (p_from, v_transfer, -p_amount, v_from.balance + p_amount, v_from.balance,
            v_from.version),
           (p_to, v_transfer, p_amount, v_to.balance - p_amount, v_to.balance, v_to.version);
    RETURN v_transfer;
END $$;
