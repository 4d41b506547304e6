-- The custom signal a sleeping instance waits for (WaitForSignal without a process):
-- that signal, and no other, makes it due again.
ALTER TABLE instances ADD COLUMN waiting_signal TEXT;
