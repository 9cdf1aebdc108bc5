-- Repeatable (runs after the migrations on every `migrate`): the Guesty-linked view.
--
-- The Guesty listings table (`listings(listing_id)`, written by another pipeline into the
-- same schema) may or may not exist, and may appear or go away later. A versioned migration
-- would freeze whichever state it first saw, so this script re-decides on every run: the view
-- exists exactly while the listings table does. Without it, a dependent view would also make
-- dropping the listings table fail.

DO $guesty$
BEGIN
    IF to_regclass(format('%I.listings', current_schema())) IS NOT NULL THEN
        -- EXISTS lets the server match the ids: nothing is loaded into memory, and a
        -- property matching several listings still appears once.
        EXECUTE $view$
            CREATE OR REPLACE VIEW v_guesty_linked_properties AS
            SELECT p.id AS property_pk, p.property_id, p.region_code, p.name,
                   p.reference_external_property_id AS guesty_listing_id
              FROM properties p
             WHERE p.deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM listings l
                            WHERE l.listing_id::text = p.reference_external_property_id)
        $view$;
        COMMENT ON VIEW v_guesty_linked_properties IS
            'Live properties whose reference_external_property_id is a Guesty listing_id in '
            'table listings. Created by R__guesty_views.sql only while listings exists.';
    ELSE
        DROP VIEW IF EXISTS v_guesty_linked_properties;
        RAISE NOTICE 'no table %.listings: v_guesty_linked_properties not created',
            current_schema();
    END IF;
END;
$guesty$;
