-- Each page writes 30 raw items of ~16 KB; lz4 compresses them at about half the CPU of the
-- default pglz (measured by npm run bench). Servers built without lz4 keep pglz: same data, slower.
DO $$
BEGIN
  ALTER TABLE videos ALTER COLUMN raw SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; videos.raw stays compressed with pglz';
END $$;
