module foremanwebhook/vectors

go 1.19
