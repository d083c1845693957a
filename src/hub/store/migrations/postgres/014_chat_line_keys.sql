-- The hub's own chat lines in the viewer's language (ADR 0023): a system line keeps its catalogue key
-- (`chat.system.muted`) and the values it names (a JSON object: names, seconds, counts), so a viewer who
-- joins later sees it translated too. NULL for people's messages and for lines stored before this; `text`
-- stays the English, for older pages and the history API.
ALTER TABLE chat_messages ADD COLUMN text_key TEXT;
ALTER TABLE chat_messages ADD COLUMN text_params TEXT;
