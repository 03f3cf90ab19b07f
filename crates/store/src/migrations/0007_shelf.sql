-- Reserved for shelf scans (issue 4); replaced by its owner this session.
SELECT 1;
