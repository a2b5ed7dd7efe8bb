"""The reset job in SQL, for DuckDB: the accounts whose login (lowercased,
trimmed) appears in a combolist with the password whose SHA-1 is the stored hash.

    python3 benches/duck_join.py CUSTOMERS.csv DUMP.txt OUT.ids THREADS

Writes the account ids, sorted, one a line (what `leakmatch --format ids` writes).
"""
import sys

import duckdb

customers, dump, out, threads = sys.argv[1:5]
con = duckdb.connect()
con.execute(f"SET threads={int(threads)}")
con.execute(f"""
COPY (
  WITH c AS (
    SELECT account_id, lower(trim(login)) AS login, lower(password_hash) AS h
    FROM read_csv('{customers}', header=true, all_varchar=true)
  ),
  d AS (
    SELECT line, instr(line, ':') AS p
    -- chr(1) never occurs in a dump line: each line is read whole as one column.
    FROM read_csv('{dump}', header=false, delim=chr(1), quote='', escape='',
                  columns={{'line': 'VARCHAR'}}, strict_mode=false)
  )
  SELECT DISTINCT c.account_id
  FROM d JOIN c ON c.login = lower(trim(substr(d.line, 1, d.p - 1)))
  WHERE d.p > 0 AND c.h = sha1(rtrim(substr(d.line, d.p + 1), chr(13)))
  ORDER BY 1
) TO '{out}' (HEADER false)
""")
