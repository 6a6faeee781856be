-- People answering from a platform's own app are "native" authors, whatever the channel.
UPDATE messages SET author = 'native', agent = COALESCE(agent, 'Page Inbox')
WHERE author = 'page_inbox';
