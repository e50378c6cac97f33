"""Sans-I/O OCPP-J 1.6 wire layer: frames, CALLERROR codes, schema checks, time stamps."""
