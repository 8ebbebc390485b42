-- Every stored chunk knows where it sits in its run's output (a byte offset over
-- both streams). A gap between one chunk's end and the next chunk's offset is
-- output that was dropped — by the cap, or by a runner that could not keep it —
-- so every gap can be marked and the byte counts stay true after any crash.
ALTER TABLE output_chunks ADD COLUMN byte_offset bigint NOT NULL DEFAULT 0;

-- Offsets of existing chunks: the bytes before them, plus the one gap the old
-- cap recorded per run (after output_head_seq, output_dropped bytes).
UPDATE output_chunks
SET byte_offset = placed.byte_offset
FROM (
  SELECT c.run_id, c.seq,
         coalesce(sum(length(c.data)) OVER (PARTITION BY c.run_id ORDER BY c.seq
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
         + CASE WHEN r.output_dropped > 0 AND c.seq > r.output_head_seq THEN r.output_dropped ELSE 0 END
           AS byte_offset
  FROM output_chunks c JOIN runs r ON r.id = c.run_id
) AS placed
WHERE output_chunks.run_id = placed.run_id AND output_chunks.seq = placed.seq;

-- The offsets replace the per-run head/dropped bookkeeping.
ALTER TABLE runs DROP COLUMN output_head_seq;
ALTER TABLE runs DROP COLUMN output_dropped;
